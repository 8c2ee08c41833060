from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from .api import broadcast, notify_user

MAX_MESSAGE_LENGTH = 500


@login_required
def index(request):
    return render(request, "notifications/index.html", {"max_length": MAX_MESSAGE_LENGTH})


@login_required
@require_POST
def send(request):
    """Push from an ordinary synchronous view: to yourself, or to everyone if you are staff.

    The page posts here with fetch() and stays open, so the pushed notification arrives on its socket.
    """
    message = request.POST.get("message", "").strip()
    if not message or len(message) > MAX_MESSAGE_LENGTH or "\x00" in message:  # (PostgreSQL cannot store a NUL)
        return JsonResponse({"error": f"Type a message of 1 to {MAX_MESSAGE_LENGTH} characters."}, status=400)
    payload = {"message": message, "from": request.user.get_username()}
    if request.POST.get("to") == "all":
        if not request.user.is_staff:
            return JsonResponse({"error": "Only staff users may broadcast."}, status=403)
        broadcast(payload)
    else:
        notify_user(request.user, payload)
    return JsonResponse({"sent": True})
