"""A small typed adapter around the official Kubernetes client.

It owns three things the actions should not repeat: how a client is built
(`load_api_client`, following the client's own KUBECONFIG / in-cluster
conventions), how a blocking client call runs without blocking the event loop
and within the request's time budget (`call`), and how a failure becomes an
`ActionError` whose class and `transient` flag carry the retry policy.

Error messages are built from the status code, the verb and the target only:
`str(ApiException)` includes the response headers, so it never reaches a
message or the audit log.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import urllib3
from kubernetes import config as _kube_config
from kubernetes.client import ApiClient, Configuration
from kubernetes.client.exceptions import ApiException
from kubernetes.config import incluster_config as _incluster_config

from remediator.actions.kubernetes.source import (
    NO_CONFIGURATION,
    InCluster,
    KubeConfigFiles,
    find_kube_source,
)
from remediator.actions.kubernetes.source import (
    KubeConfigError as KubeConfigError,  # re-exported: callers catch it from here
)
from remediator.model.actions import ActionError, ActionRequest, Observed, TargetGone

T = TypeVar("T")

# The loaders are untyped; give them the signatures we rely on.
_load_kube_config: Callable[..., None] = _kube_config.load_kube_config
_InClusterConfigLoader: Callable[..., Any] = _incluster_config.InClusterConfigLoader
_ConfigException: type[Exception] = _kube_config.ConfigException

_TRANSIENT_STATUSES = frozenset({409, 429})


def api_client(configuration: Configuration) -> ApiClient:
    """Build an `ApiClient` whose time use the action's `timeout` can bound.

    By default urllib3 retries idempotent requests (GET, DELETE) on read
    timeouts, each time with a fresh timeout, and sleeps out a 429/503
    Retry-After inside the thread: both quietly exceed the budget. Its quick
    reconnects each logged a "Retrying ..." warning, several per action
    against an unreachable API server (issue 23). The worker owns the retry
    policy (backoff, Retry-After through `ActionError.retry_after`), so the
    client makes one attempt per call and `transport_error` says why it failed.
    """
    configuration.retries = urllib3.Retry(total=0, read=0, respect_retry_after_header=False)
    return ApiClient(configuration)


def close_api_client(client: ApiClient) -> None:
    """Release the client's connection pool (`ApiClient.close` is untyped)."""
    close: Callable[[], None] = client.close
    close()


def load_api_client(mode: str, *, environ: Mapping[str, str] | None = None) -> ApiClient | None:
    """The client for `mode` "off", "auto" or "on", following the client's conventions.

    "auto" prefers KUBECONFIG (or ~/.kube/config) when present, then the
    in-cluster ServiceAccount when KUBERNETES_SERVICE_HOST is set, else runs
    without Kubernetes (None): `kube_source.find_kube_source` decides. "on"
    is "auto" that must find a configuration.
    A configuration that is present but broken is an error in both modes:
    silently running without actions would hide it until 3 a.m.
    """
    if mode not in {"off", "auto", "on"}:
        raise ValueError(f"kubernetes mode must be 'off', 'auto' or 'on', not {mode!r}")
    if mode == "off":
        return None
    env = os.environ if environ is None else environ
    configuration = _load_configuration(env)
    if configuration is None and mode == "on":
        raise KubeConfigError(NO_CONFIGURATION)
    return None if configuration is None else api_client(configuration)


def _load_configuration(env: Mapping[str, str]) -> Configuration | None:
    source = find_kube_source(env)
    if source is None:
        return None
    configuration = Configuration()
    try:
        if isinstance(source, KubeConfigFiles):
            _load_kube_config(config_file=source.paths, client_configuration=configuration)
        else:
            _load_in_cluster(source, env, configuration)
    except (_ConfigException, OSError, ValueError) as error:
        raise KubeConfigError(f"cannot load Kubernetes configuration from {source}: "
                              f"{type(error).__name__}: {error}") from None
    if configuration.refresh_api_key_hook is not None:
        configuration.refresh_api_key_hook = ThrottledRefresh(configuration.refresh_api_key_hook)
    return configuration


REFRESH_INTERVAL = 1.0
"""Seconds between two credential refreshes; both loaders' own margins are minutes."""


class ThrottledRefresh:
    """The loader's credential refresh, run at most once per `interval`, not per request.

    The client calls `refresh_api_key_hook` before every request. A kubeconfig
    with a token installs one that re-applies the whole configuration each
    time, and setting `host` re-reads the proxies from the environment: ~2 ms
    of CPU per request, a sixth of an action's (py-spy, `bench actions`).
    What the hook guards changes on a scale of minutes: an exec or OIDC token
    is renewed 5 minutes before it expires, the in-cluster token file is
    re-read every minute. The kubeconfig hook installs itself again when it
    runs; the throttle keeps its place and follows the newest one.
    """

    def __init__(self, hook: Callable[[Configuration], None], *,
                 interval: float = REFRESH_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._hook = hook
        self._interval = interval
        self._clock = clock
        self._due = float("-inf")

    def __call__(self, configuration: Configuration) -> None:
        now = self._clock()
        if now < self._due:
            return
        self._due = now + self._interval
        self._hook(configuration)
        installed: Any = configuration.refresh_api_key_hook  # typed as None upstream
        if installed is not self and callable(installed):
            self._hook = installed
            setattr(configuration, "refresh_api_key_hook", self)  # noqa: B010  (same typing)


def _load_in_cluster(source: InCluster, env: Mapping[str, str],
                     configuration: Configuration) -> None:
    """The pod's ServiceAccount, read from `source.serviceaccount_dir`.

    The loader re-reads the token file every minute (`try_refresh_token`):
    the kubelet rotates projected tokens, and a token read once at start-up
    expires after an hour.
    """
    loader = _InClusterConfigLoader(token_filename=str(source.token_file),
                                    cert_filename=str(source.ca_file),
                                    try_refresh_token=True, environ=env)
    loader.load_and_set(configuration)


class Deadline:
    """The time left of one action's `timeout`, shared by all its API calls."""

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._seconds = seconds
        self._end = clock() + seconds

    @property
    def seconds(self) -> float:
        return self._seconds

    def remaining(self) -> float:
        return self._end - self._clock()


@dataclass(frozen=True, kw_only=True)
class Operation:
    """What one API call does, in RBAC terms: named in errors and hints."""

    verb: str
    resource: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.verb} {self.resource} {self.namespace}/{self.name}"

    @property
    def writes(self) -> bool:
        return self.verb not in {"get", "list", "watch"}


async def call(operation: Operation, deadline: Deadline, request: Callable[[float], T]) -> T:
    """Run `request(timeout)` in a thread; map every client failure to an `ActionError`.

    `request` receives the seconds left of the deadline, to pass on as the
    client's `_request_timeout`.
    """
    remaining = deadline.remaining()
    if remaining <= 0:
        raise ActionError(f"{operation}: out of time ({deadline.seconds:g}s budget)",
                          transient=True)
    try:
        return await asyncio.to_thread(request, remaining)
    except ApiException as error:
        raise at_most_once(operation, api_error(operation, error)) from None
    except urllib3.exceptions.HTTPError as error:
        raise at_most_once(operation, transport_error(operation, error, remaining)) from None


# Answers that prove a write was not applied: a conflict, throttling, a refusal.
_NOT_APPLIED_STATUSES = frozenset({409, 429})


def at_most_once(operation: Operation, error: ActionError) -> ActionError:
    """A write that failed ambiguously (a timeout, a 5xx) is not retried.

    The API server may have applied it before failing: retrying a scale or an
    HPA raise would apply the step twice, and a retried pod delete could hit
    the StatefulSet pod that replaced the first one. Reads, and writes the
    server provably refused (409, 429, connection refused), stay retryable.
    """
    if not (error.transient and operation.writes):
        return error
    status = error.detail.get("status")
    if status in _NOT_APPLIED_STATUSES or error.detail.get("refused"):
        return error
    return ActionError(f"{error.message}; not retried: it may have been applied, "
                       f"check {operation.resource} {operation.namespace}/{operation.name}",
                       detail={**error.detail, "ambiguous": True})


def namespace_of(request: ActionRequest) -> str:
    """The request's namespace; every Kubernetes action here acts on a namespaced object."""
    if request.namespace is None:
        raise ActionError(f"{request.type} needs a namespace ({request.target})")
    return request.namespace


async def write(operation: Operation, deadline: Deadline, request: Callable[[float], object],
                seen: Observed) -> None:
    """`call` for a write based on `seen`: its failure carries `seen`, so a retry is held to it.

    A 409 (someone changed the object since it was read) is retried; the
    retry reads again and must find what `seen` says, or refuse
    (`TargetChanged`) instead of acting on a state nobody decided on.
    """
    try:
        await call(operation, deadline, request)
    except ActionError as error:
        error.observed = seen
        raise


def with_resource_version(resource_version: str | None,
                          body: dict[str, Any]) -> dict[str, Any]:
    """Add `metadata.resourceVersion` to a patch: the API server's optimistic lock.

    A read-modify-write that sends it gets 409 (transient, retried with a fresh
    read) if anyone changed the object in between, instead of overwriting them.
    """
    if resource_version is None:
        return body
    return {"metadata": {"resourceVersion": resource_version}, **body}


def api_error(operation: Operation, error: ApiException) -> ActionError:
    """The retry policy of an API server answer: gone, permanent or transient."""
    status: int = error.status if isinstance(error.status, int) else 0
    detail = {"status": status}
    if status == 404:
        return TargetGone(f"{operation}: not found", detail=detail)
    if status == 403:
        return ActionError(f"{operation}: {_rbac_hint(operation)}", detail=detail)
    text = f"{operation}: HTTP {status} {error.reason or ''}".rstrip() + _status_message(error)
    if status in _TRANSIENT_STATUSES or status >= 500:
        return ActionError(text, transient=True, retry_after=_retry_after(error), detail=detail)
    return ActionError(text, detail=detail)


def transport_error(operation: Operation, error: urllib3.exceptions.HTTPError,
                    timeout: float) -> ActionError:
    """A timeout or a failed connection: worth retrying later; names the API server,
    so on-call can tell a wrong address from a server that is down."""
    cause = error.reason if isinstance(error, urllib3.exceptions.MaxRetryError) else error
    # NewConnectionError subclasses ConnectTimeoutError, yet it is a refusal, not a timeout.
    refused = isinstance(cause, urllib3.exceptions.NewConnectionError)
    if isinstance(cause, urllib3.exceptions.TimeoutError) and not refused:
        return ActionError(f"{operation}: timed out after {timeout:.1f}s", transient=True)
    server = _server_of(error)
    where = f"the Kubernetes API at {server}" if server else "the Kubernetes API"
    return ActionError(f"{operation}: cannot reach {where}: {_why(cause)}", transient=True,
                       detail={"refused": refused})


def _server_of(error: urllib3.exceptions.HTTPError) -> str | None:
    """`scheme://host:port` of the pool `error` came from (urllib3 errors carry it)."""
    pool: Any = getattr(error, "pool", None)
    if pool is None or not getattr(pool, "host", None):
        return None
    return f"{pool.scheme}://{pool.host}:{pool.port}" if pool.port else \
        f"{pool.scheme}://{pool.host}"


def _why(cause: BaseException | None) -> str:
    """The socket's own words ("connection refused", "no route to host"), else the class."""
    if isinstance(cause, urllib3.exceptions.NameResolutionError):
        return "the host name does not resolve"
    os_error = next((e for e in (cause, getattr(cause, "__cause__", None),
                                 getattr(cause, "__context__", None))
                     if isinstance(e, OSError) and e.strerror), None)
    if os_error is not None and os_error.strerror:
        return os_error.strerror[:1].lower() + os_error.strerror[1:]
    return f"connection failed ({type(cause).__name__})"


def _rbac_hint(operation: Operation) -> str:
    return (f"forbidden: grant '{operation.verb}' on '{operation.resource}' in namespace "
            f"'{operation.namespace}' to the remediator's ServiceAccount")


MAX_RETRY_AFTER = 60.0
"""Seconds: the longest wait an API server's Retry-After may ask of us. A larger
(or absurd) value would park the job well past the point the action matters."""
RETRY_AFTER_JITTER = 0.2
"""Up to this fraction is added to Retry-After, so the retries of a storm of
throttled actions do not all come back in the same second."""


def _retry_after(error: ApiException, *,
                 jitter: Callable[[], float] = random.random) -> float | None:
    headers: Any = error.headers
    value = headers.get("Retry-After") if headers is not None else None
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return bounded_retry_after(seconds, jitter=jitter)


def bounded_retry_after(seconds: float | None, *,
                        jitter: Callable[[], float] = random.random) -> float | None:
    """Retry-After capped at MAX_RETRY_AFTER, plus up to RETRY_AFTER_JITTER of it.

    Never earlier than asked (within the cap); None for nothing usable
    (negative, NaN), so the worker's own backoff applies.
    """
    if seconds is None or not seconds >= 0:  # also NaN
        return None
    capped = min(seconds, MAX_RETRY_AFTER)
    return round(capped * (1 + RETRY_AFTER_JITTER * jitter()), 3)


def _status_message(error: ApiException) -> str:
    """The `message` of a Kubernetes Status body, shortened; never the headers."""
    try:
        body: Any = json.loads(error.body) if error.body else None
    except ValueError:
        return ""
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str) or not message:
        return ""
    return ": " + (message if len(message) <= 200 else message[:197] + "...")
