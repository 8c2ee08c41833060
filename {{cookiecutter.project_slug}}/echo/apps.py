from django.apps import AppConfig


class EchoConfig(AppConfig):
    name = "echo"
    verbose_name = "Echo"
    about = "three ways to write a consumer: raw events, JSON, and synchronous"
