from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "tasks"
    verbose_name = "Tasks"
    about = "slow jobs run by background workers, their progress pushed live to the page"
    more_pages = {"jobs": "durable jobs: stored in the database, run at least once by db_worker"}  # views.home

    def ready(self):
        from . import durable

        durable.connect_signals()
