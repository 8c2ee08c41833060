from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "tasks"
    verbose_name = "Tasks"
    about = "a slow job run by a background worker, its progress pushed live to the page"
