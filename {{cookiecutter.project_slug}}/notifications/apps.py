from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"
    about = "pushed live to every tab of the logged-in user, from a view, the shell or a command"
