from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Chat"
    about = "rooms where every open page sees every message (channel-layer groups)"
