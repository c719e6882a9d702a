"""Settings read from the environment strictly: a value that does not parse stops the start with
an error naming its variable, never a traceback deep in Django and never a silent default.

django-environ reads any unknown boolean as false (EMAIL_USE_TLS=enabled would send the SMTP
password in clear), and raises bare ValueErrors and KeyErrors for a bad number or database URL.
"""

import logging
import re
from email.utils import parseaddr
from urllib.parse import urlsplit

import environ
from django.core.exceptions import AppRegistryNotReady, ImproperlyConfigured
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import sanitize_address
from django.utils.module_loading import import_string

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off"}
DATABASE_SCHEMES = ("postgres", "postgresql", "pgsql", "sqlite")
# django-ratelimit's count/period, its unit required and lower case: the library reads "10/M" or
# "10/5" as per second, ignores anything after the unit and fails every request on "10/0m".
RATE = re.compile(r"(?P<count>\d+)/(?P<multiple>\d*)[smhd]", re.ASCII)


def is_rate(value: str) -> bool:
    match = RATE.fullmatch(value)
    # A count of 0 refuses every request; a period of 0 seconds is an error in each request.
    return bool(match) and int(match["count"]) > 0 and int(match["multiple"] or 1) > 0


def masked(url: str) -> str:
    """The URL as an error may quote it: its password replaced by ** (start-up errors go to logs).

    Read from the raw text, not with urlsplit alone: a '/', '#' or '?' left unencoded in a password
    ends the host part there, and the rest of the password would be quoted as the URL's path."""
    scheme, sep, rest = url.partition("://")
    if not sep:  # no scheme (DATABASE_URL=cx:pw@db:5432/cx): all of it may hold a user and password
        scheme, rest = "", url
    at = _end_of_userinfo(rest)
    if at is None:
        return url
    userinfo, hosts = rest[:at], rest[at + 1 :]
    user, colon, _ = userinfo.partition(":")
    if not colon and not set(userinfo) & set("/#?"):
        return url  # a user name alone, no password
    # Without a ':' a user name cannot be told from a password: neither is quoted.
    return f"{scheme}{sep}{user + ':' if colon else ''}**@{hosts}"


def _end_of_userinfo(rest: str) -> int | None:
    """Where in `rest` (a URL after its 'scheme://') the '@' ending a user and password is, if any.

    An unencoded '/', '#' or '?' in a password ends urlsplit's host part early: the '@' is then
    further on, before any query or fragment (postgres://u:1234/x@db), or anywhere when what
    urlsplit read as a port is no number (postgres://u:hun?ter2@db). The last such '@' (a password
    may hold one too; quoting too little is the safe side). An '@' in a query value
    (?application_name=cx@prod) or a SQLite path (no host part) is no password's."""
    netloc = urlsplit(f"//{rest}").netloc
    if not netloc:
        return None
    before_query = rest[len(netloc) :].split("?", 1)[0].split("#", 1)[0]
    if "@" in before_query:
        return len(netloc) + before_query.rindex("@")
    if "@" in netloc:
        return netloc.rindex("@")
    _, colon, port = netloc.rpartition(":")
    if colon and not port.isdigit() and "@" in rest:
        return rest.rindex("@")
    return None


def _check_password(var: str, url: str) -> None:
    # A password pasted as generated: with a '/', '#' or '?' in it the host part ends there, and
    # the start-up error was a port that is not a number (or, with digits, a connection to the
    # user name as a host). Then the '@' ending it lies past urlsplit's host part.
    _, sep, rest = url.partition("://")
    rest = rest if sep else url
    at = _end_of_userinfo(rest)
    if at is not None and at >= len(urlsplit(f"//{rest}").netloc):
        raise ImproperlyConfigured(
            f"{var} has a '/', '#', '?' or '@' in its password: special characters in the password must "
            f"be percent-encoded (/ as %2F, # as %23, ? as %3F, @ as %40), not {masked(url)!r}."
        )


def _check_port(var: str, url: str) -> None:
    # urllib reads the port only when asked: a typo (":abc", ":99999") would otherwise surface as
    # a bare ValueError in the first connection, a 500 on every page that reaches it.
    # libpq takes a failover list (postgres://u@db1:5432,db2:5432/cx): each host's port is checked.
    hosts = urlsplit(url).netloc.rpartition("@")[2].split(",")
    try:
        for host in hosts:
            urlsplit(f"//{host}").port  # noqa: B018 - read for its check
    except ValueError:
        raise ImproperlyConfigured(
            f"{var} has a port that is not a number from 0 to 65535: {masked(url)!r}."
        ) from None


class StrictEnv(environ.Env):
    def bool(self, var, default=environ.Env.NOTSET):
        raw = self._raw(var)
        if raw is None:
            return super().bool(var, default=default)
        value = raw.strip().lower()
        if value in TRUE | FALSE:
            return value in TRUE
        raise ImproperlyConfigured(f"{var} must be true or false (1/0, yes/no, on/off), not {raw!r}.")

    def int(self, var, default=environ.Env.NOTSET):
        return self._number(var, default, super().int, "a whole number")

    def float(self, var, default=environ.Env.NOTSET):
        return self._number(var, default, super().float, "a number")

    def db(self, var="DATABASE_URL", default=environ.Env.NOTSET, **kwargs):
        raw = self._raw(var)
        if raw is not None and urlsplit(raw).scheme not in DATABASE_SCHEMES:
            raise ImproperlyConfigured(
                f"{var} must be a postgres:// or sqlite:/// URL, such as "
                f"postgres://user@127.0.0.1:5432/cxplatform, not {masked(raw)!r}."
            )
        if raw is not None:
            _check_password(var, raw)
            _check_port(var, raw)
        return super().db(var, default=default, **kwargs)

    def url_of(self, var, *, schemes: tuple[str, ...], default: str = "") -> str:
        """A URL with one of `schemes`, or the default ("" for unset, when allowed)."""
        value = self.str(var, default=default)
        if value and urlsplit(value).scheme not in schemes:
            raise ImproperlyConfigured(
                f"{var} must be a URL starting with {' or '.join(s + '://' for s in schemes)}, "
                f"not {masked(value)!r}."
            )
        if value:
            _check_password(var, value)
            _check_port(var, value)
        return value

    def address(self, var, *, default: str) -> str:
        """One email address, with or without a display name ("Acme, Inc." <cx@acme.example>): an
        unquoted comma in the name reads as two addresses, and Django's mail would refuse to send."""
        value = self.str(var, default=default).strip()
        try:
            if "@" not in parseaddr(value)[1]:
                raise ValueError("no address")
            sanitize_address(value, "utf-8")
        except (ValueError, IndexError):
            raise ImproperlyConfigured(
                f"{var} must be one email address, such as cx@example.com or "
                f'"Acme, Inc." <cx@example.com> (quote a name holding a comma), not {value!r}.'
            ) from None
        return value

    def user_password(self, var) -> str:
        """HTTP Basic credentials as user:password, or "" when unset: anything else would be taken and
        then match no request (a provider always sends both parts), refusing every call silently."""
        value = self.str(var, default="")
        user, colon, password = value.partition(":")
        if value and not (colon and user and password):
            raise ImproperlyConfigured(f"{var} must be user:password, both parts non-empty (the value is not shown).")
        return value

    def secret_list(self, var) -> list[str]:
        """Comma-separated secrets, [] when unset; an empty one (a stray comma) is refused, the value
        never shown: an empty string would be taken as a key."""
        value = self.str(var, default="")
        if not value.strip():
            return []
        keys = [item.strip() for item in value.split(",")]
        if not all(keys):
            raise ImproperlyConfigured(
                f"{var} must be comma-separated secrets, none empty (the value is not shown)."
            )
        return keys

    def email_backend(self, var, *, default: str) -> str:
        """The dotted path of an email backend class, imported now: a typo (smtp.EmailBackendd)
        would otherwise start every process and fail each send in the worker, retried for ever.

        Not a system check: gunicorn runs none, and the Celery worker runs them without acting on
        an error. Django's and Anymail's backends read no settings when imported (no cycle)."""
        value = self.str(var, default=default)
        try:
            backend = import_string(value)
        except AppRegistryNotReady:
            return value  # a backend of this project's apps: it cannot be imported before them
        except ImportError as error:  # also Anymail's for a provider's missing package (boto3)
            reason = str(error).splitlines()[0].rstrip(".")
        else:
            if isinstance(backend, type) and issubclass(backend, BaseEmailBackend):
                return value
            reason = "not an email backend class"
        raise ImproperlyConfigured(
            f"{var} must be the dotted path of an email backend class, such as "
            f"django.core.mail.backends.smtp.EmailBackend or anymail.backends.postmark.EmailBackend, "
            f"not {value!r} ({reason})."
        )

    def choice(self, var, *, choices: tuple[str, ...], default: str) -> str:
        value = self.str(var, default=default)
        if value not in choices:
            raise ImproperlyConfigured(f"{var} must be one of {', '.join(choices)}, not {value!r}.")
        return value

    def log_level(self, var, *, default: str) -> str:
        value = self.str(var, default=default).upper()
        if not isinstance(logging.getLevelName(value), int):
            raise ImproperlyConfigured(f"{var} must be a log level (DEBUG, INFO, WARNING, ERROR), not {value!r}.")
        return value

    def rate(self, var, *, default: str) -> str:
        """A django-ratelimit rate such as 10/m or 100/5m: requests per period, at least one of each."""
        value = self.str(var, default=default).strip()
        if not is_rate(value):
            raise ImproperlyConfigured(
                f"{var} must be a rate as count/period, such as 10/m, 100/5m or 1000/h "
                f"(period s, m, h or d; count and period at least 1), not {value!r}."
            )
        return value

    def _number(self, var, default, parse, what: str):
        try:
            return parse(var, default=default)
        except ValueError:
            raise ImproperlyConfigured(f"{var} must be {what}, not {self._raw(var)!r}.") from None

    def _raw(self, var) -> str | None:
        return self.ENVIRON.get(var)
