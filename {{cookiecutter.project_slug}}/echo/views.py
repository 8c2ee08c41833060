from django.shortcuts import render

SOCKETS = ["/ws/echo/", "/ws/echo-json/", "/ws/echo-sync/"]


def index(request):
    return render(request, "echo/index.html", {"sockets": SOCKETS})
