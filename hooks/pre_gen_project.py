"""Refuse answers that cannot work, before anything is written; say which project slug a bake uses when the
one made from the project name could not be used.

cookiecutter.json makes the default project slug with the same rules as `derived_slug` below, from a copy of
`reserved_slugs()` (tests/test_project_names.py proves both copies agree), so a slug made from the project
name always passes; only a slug the user typed can be refused here.

Jinja lives only in the string literals below, so this file imports and is unit-tested as plain Python.
"""

import json
import keyword
import re
import sys

# The answers as JSON: JSON never has three unescaped double quotes in a row, so no answer can end
# this string early and break the hook.
ANSWERS_JSON = r"""{{ cookiecutter | tojson }}"""
# The project name as the default slug starts from it: only lowercase ASCII letters, digits and underscores.
NAME_SLUG = "{{ cookiecutter.project_name | slugify(separator='_') }}"
TEXT_QUESTIONS = ["project_name", "description", "author_name", "email"]

# Top-level modules the baked project imports (its dependencies and their own imports):
# a package with one of these names beside manage.py would shadow the real one.
TAKEN_NAMES = {
    *"asgiref channels channels_redis cookiecutter daphne django dotenv gunicorn httptools msgpack".split(),
    *"pytest pytest_asyncio pytest_django redis ruff sqlparse twisted uvicorn uvicorn_worker uvloop".split(),
    *"watchfiles websockets yaml playwright greenlet pyee".split(),
}
# Labels of the Django apps settings.INSTALLED_APPS lists: a project package of the same label makes Django
# refuse to start ("Application labels aren't unique").
DJANGO_APP_LABELS = {"admin", "auth", "contenttypes", "sessions", "messages", "staticfiles"}
# Folders the template writes beside the package, and names its .gitignore and .dockerignore leave out.
PROJECT_FOLDERS = {"docs": "written", "deploy": "written", "staticfiles": "ignored", "node_modules": "ignored"}
# The demo apps' folders: the template writes them in every bake (the post-gen hook then deletes them when
# include_demo_apps is false), so a project package of the same name would share their folder.
DEMO_APPS = ["echo", "chat", "notifications", "tasks"]
# Standard-library modules that sys.stdlib_module_names leaves out (its own test package), and those of
# Python versions newer than the one baking (3.14 adds annotationlib and compression): a project may run on a
# newer Python than the one cookiecutter runs on.
MORE_STDLIB_NAMES = {"test", "annotationlib", "compression"}

# Python packaging names end with a letter or digit (PEP 508): pip and uv refuse a project named "chat_".
SLUG_PATTERN = re.compile(r"^[a-z]([a-z0-9_]*[a-z0-9])?$")
DEFAULT_SLUG = "channels_project"


def slug_reason(slug, include_demo_apps=True):
    """Why `slug` cannot be the project package, as the end of a sentence that starts with it; None if it can."""
    if keyword.iskeyword(slug):
        return "is a Python keyword and cannot name a package"
    if slug in sys.stdlib_module_names or slug in MORE_STDLIB_NAMES:
        return f"would shadow Python's standard-library module '{slug}'"
    if slug in TAKEN_NAMES:
        return f"would shadow the module '{slug}' that the project uses"
    if slug in DJANGO_APP_LABELS:
        return f"is the label of django.contrib.{slug}, an app the project installs (app labels must be unique)"
    if slug in PROJECT_FOLDERS:
        if PROJECT_FOLDERS[slug] == "written":
            return f"is the project's own {slug}/ folder, beside the package"
        return "is a folder the project's .gitignore and .dockerignore leave out, so the package would be too"
    if slug in DEMO_APPS:
        if include_demo_apps:
            return f"is the package of this bake's demo app {slug}"
        # No demo app in the finished project, but generation writes its folder, which the package would share.
        return f"is the folder of the demo app {slug}, which every bake writes and include_demo_apps=false deletes"
    if slug == "conftest":
        return "is the module name pytest gives the project's conftest.py"
    return None


def slug_problem(slug, include_demo_apps=True):
    """Return one sentence saying why `slug` cannot be the project package, or None if it can."""
    if not SLUG_PATTERN.match(slug):
        return (
            f"'{slug}' is not a valid project slug: use lowercase ASCII letters, digits and underscores, "
            "starting with a letter and ending with a letter or digit (for example: my_chat)."
        )
    reason = slug_reason(slug, include_demo_apps)
    if reason:
        return f"'{slug}' {reason}: pick another project slug (for example {slug}_project)."
    return None


def reserved_slugs():
    """The valid-looking slugs refused whatever the options: the ones the default slug must step around."""
    candidates = {*keyword.kwlist, *sys.stdlib_module_names, *MORE_STDLIB_NAMES, *TAKEN_NAMES, *DEMO_APPS, "conftest"}
    candidates |= DJANGO_APP_LABELS | set(PROJECT_FOLDERS)
    return {name for name in candidates if SLUG_PATTERN.match(name) and slug_reason(name, include_demo_apps=True)}


def derived_slug(name_slug):
    """The default project slug for a project name slugified to `name_slug` (cookiecutter.json's rules)."""
    slug = name_slug or DEFAULT_SLUG
    if slug[0].isdigit():
        slug = f"project_{slug}"
    if slug in reserved_slugs():
        slug = f"{slug}_project"
    return slug


def derived_slug_note(slug, name_slug, include_demo_apps=True):
    """One line saying why the bake's slug is not simply the project name's, or None when it is."""
    if slug == name_slug or slug != derived_slug(name_slug):
        return None
    if not name_slug:
        why = "the project name has no letters or digits to make one from"
    elif name_slug[0].isdigit():
        why = f"'{name_slug}' starts with a digit, which a package name cannot"
    else:
        why = f"'{name_slug}' {slug_reason(name_slug, include_demo_apps)}"
    return f"Project slug: {slug} ({why}; answer project_slug to choose another)."


def text_problem(question, answer):
    """Answers are written into Python and TOML string literals: refuse what would end them early."""
    if '"' in answer or "\\" in answer or "\n" in answer:
        return f"The {question} may not contain double quotes, backslashes or line breaks: {answer!r}."
    if question == "project_name" and not answer.strip():
        return "The project name is empty: give one, it titles the project's pages and README."
    return None


def main():
    answers = json.loads(ANSWERS_JSON)
    include_demo_apps = str(answers["include_demo_apps"]) == "True"  # as the post-gen hook reads it
    slug = answers["project_slug"]
    problems = [text_problem(question, answers[question]) for question in TEXT_QUESTIONS]
    problem = next(filter(None, problems), None) or slug_problem(slug, include_demo_apps)
    if problem:
        print(f"ERROR: {problem}", file=sys.stderr)
        sys.exit(1)
    note = derived_slug_note(slug, NAME_SLUG, include_demo_apps)
    if note:
        print(note)


if __name__ == "__main__":
    main()
