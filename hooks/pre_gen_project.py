"""Refuse a project slug that cannot work, before anything is written.

Jinja lives only in the string literal below, so this file imports and is unit-tested as plain Python.
"""

import json
import keyword
import re
import sys

# The answers as JSON: JSON never has three unescaped double quotes in a row, so no answer can end
# this string early and break the hook.
ANSWERS_JSON = r"""{{ cookiecutter | tojson }}"""
TEXT_QUESTIONS = ["project_name", "description", "author_name", "email"]

# Top-level modules the baked project imports (its dependencies and their own imports) or ships as apps:
# a package with one of these names beside manage.py would shadow the real one.
TAKEN_NAMES = {
    *"asgiref channels channels_redis cookiecutter daphne django dotenv gunicorn httptools msgpack".split(),
    *"pytest pytest_asyncio pytest_django redis ruff sqlparse twisted uvicorn uvicorn_worker uvloop".split(),
    *"watchfiles websockets yaml playwright greenlet pyee".split(),
    # the demo apps, and test folders
    *"echo chat notifications tasks tests conftest".split(),
    # the standard library's own test package, which sys.stdlib_module_names leaves out
    "test",
}

SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


def slug_problem(slug):
    """Return one sentence saying why `slug` cannot be the project package, or None if it can."""
    if not SLUG_PATTERN.match(slug):
        return (
            f"'{slug}' is not a valid project slug: use lowercase ASCII letters, digits and underscores, "
            "starting with a letter (for example: my_chat)."
        )
    if keyword.iskeyword(slug):
        return f"'{slug}' is a Python keyword and cannot name a package: pick another project slug."
    if slug in sys.stdlib_module_names:
        return f"'{slug}' would shadow Python's standard-library module '{slug}': pick another project slug."
    if slug in TAKEN_NAMES:
        return f"'{slug}' would shadow the module '{slug}' that the project uses: pick another project slug."
    return None


def text_problem(question, answer):
    """Answers are written into Python and TOML string literals: refuse what would end them early."""
    if '"' in answer or "\\" in answer or "\n" in answer:
        return f"The {question} may not contain double quotes, backslashes or line breaks: {answer!r}."
    return None


def main():
    answers = json.loads(ANSWERS_JSON)
    problems = [text_problem(question, answers[question]) for question in TEXT_QUESTIONS]
    problem = next(filter(None, problems), None) or slug_problem(answers["project_slug"])
    if problem:
        print(f"ERROR: {problem}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
