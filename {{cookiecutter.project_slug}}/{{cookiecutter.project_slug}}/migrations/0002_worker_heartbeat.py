from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("{{ cookiecutter.project_slug }}", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="WorkerHeartbeat",
            fields=[
                ("worker_id", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("seen_at", models.DateTimeField()),
            ],
        ),
    ]
