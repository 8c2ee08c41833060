from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "tasks"
    verbose_name = "Tasks"
    about = "slow jobs run by background workers, their progress pushed live to the page"

    def ready(self):
        from . import durable

        durable.connect_signals()
