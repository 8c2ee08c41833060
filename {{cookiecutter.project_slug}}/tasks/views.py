from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def index(request):
    return render(request, "tasks/index.html")


@login_required
def jobs(request):
    """Durable jobs (durable.py): the page shows their state from the database as it opens, then live."""
    return render(request, "tasks/jobs.html")
