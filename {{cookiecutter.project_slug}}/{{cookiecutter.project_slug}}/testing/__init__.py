"""The test machinery behind conftest.py, kept out of the fixtures an app's tests use.

- `plugin.py`: the pytest plugin conftest.py loads: the `--redis` option and its skips, the session's
  channel layer, `redis_url`, `process_env`, `uvicorn_server`, `browser`, `new_page`, `crashable_server`, `log_in`.
- `processes.py`: a free port, a private redis-server, uvicorn with the project's socket options.
- `live_server.py`: this project under a real uvicorn on the test database, with `settings.py`: the project's
  settings and the tests' password hasher.
- `browser.py`: Debian's chromium through Playwright, and a server a test can crash under an open page.
- `routes.py`: a path for every routed socket, for tests that cover every consumer.
- `screenshots.py`: the `screenshot` fixture and `--screenshots DIR`, PNGs of the pages the browser tests open.
"""
