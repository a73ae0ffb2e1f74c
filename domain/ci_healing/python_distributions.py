"""Which PyPI distribution provides an imported Python module: a closed, reviewed table.

`ModuleNotFoundError: No module named 'yaml'` is fixed by installing `PyYAML`, not `yaml`. Guessing the
distribution from the module name is how typosquatted packages get installed (`reqeusts`, `python-jwt`),
so only modules in this table are ever installed automatically; anything else goes to a human.
"""

from __future__ import annotations

# Import name -> distribution name, where they differ.
_RENAMED: dict[str, str] = {
    "yaml": "PyYAML",
    "cv2": "opencv-python",
    "PIL": "Pillow",
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "bs4": "beautifulsoup4",
    "dateutil": "python-dateutil",
    "jwt": "PyJWT",
    "Crypto": "pycryptodome",
    "dotenv": "python-dotenv",
    "attr": "attrs",
    "google.protobuf": "protobuf",
    "magic": "python-magic",
    "serial": "pyserial",
    "usb": "pyusb",
    "OpenSSL": "pyOpenSSL",
    "docx": "python-docx",
    "pptx": "python-pptx",
    "git": "GitPython",
    "zmq": "pyzmq",
    "MySQLdb": "mysqlclient",
    "psycopg2": "psycopg2-binary",
    "dns": "dnspython",
    "jose": "python-jose",
    "multipart": "python-multipart",
    "slugify": "python-slugify",
    "github": "PyGithub",
    "gitlab": "python-gitlab",
    "Levenshtein": "python-Levenshtein",
    "fitz": "PyMuPDF",
    "win32api": "pywin32",
    "pkg_resources": "setuptools",
    "lxml": "lxml",
    "markdown": "Markdown",
    "jinja2": "Jinja2",
    "markupsafe": "MarkupSafe",
    "websocket": "websocket-client",
    "google.cloud.storage": "google-cloud-storage",
    "grpc": "grpcio",
    "typing_extensions": "typing-extensions",
    "ruamel": "ruamel.yaml",
    "nacl": "PyNaCl",
    "kafka": "kafka-python",
    "telegram": "python-telegram-bot",
    "socks": "PySocks",
    "factory": "factory-boy",
}

# Distributions whose import name is their own name.
_SAME_NAME_TEXT = """
requests numpy pandas pytest flask django scipy matplotlib seaborn sqlalchemy alembic celery redis
boto3 botocore click jsonschema pydantic fastapi uvicorn httpx aiohttp tornado toml tomli tqdm rich
six certifi urllib3 idna chardet charset_normalizer packaging setuptools wheel pip virtualenv tox
nox coverage mock hypothesis black isort flake8 mypy pylint ruff paramiko cryptography bcrypt
passlib pymongo psutil pyparsing docutils sphinx nltk torch torchvision tensorflow keras
transformers networkx sympy xlrd openpyxl xmltodict simplejson ujson orjson msgpack arrow pytz
tzdata babel gunicorn werkzeug itsdangerous marshmallow structlog loguru sentry_sdk responses
freezegun faker selenium playwright pexpect sh invoke fabric ansible docker kubernetes pyarrow
polars duckdb openai anthropic tiktoken tenacity backoff cachetools filelock platformdirs wrapt
decorator
"""
_SAME_NAME = _SAME_NAME_TEXT.split()

_TABLE: dict[str, str] = {name: name for name in _SAME_NAME} | _RENAMED


def distribution_for(module: str) -> str | None:
    """The distribution that provides `module` (its longest known dotted prefix), or None if unknown."""
    parts = module.strip().split(".")
    for size in range(len(parts), 0, -1):
        found = _TABLE.get(".".join(parts[:size]))
        if found is not None:
            return found
    return None
