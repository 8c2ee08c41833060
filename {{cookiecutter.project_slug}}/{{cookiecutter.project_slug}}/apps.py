from django.apps import AppConfig


class ProjectConfig(AppConfig):
    name = "{{ cookiecutter.project_slug }}"
    verbose_name = "{{ cookiecutter.project_name }}"
