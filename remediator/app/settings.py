"""Configuration: `serve` flags, `REMEDIATOR_*` environment variables, a YAML file.

Precedence, highest first: command-line flag, environment variable, the
`--config` YAML file, the default. Lists are comma-separated in the
environment (`REMEDIATOR_ALLOWED_NAMESPACES=apps-a,apps-b`).
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from remediator.app.chat_settings import ChatSettings, CommaList
from remediator.app.timeline_settings import TimelineSettings
from remediator.model.durations import Duration
from remediator.store.location import (
    DEFAULT_DATABASE_URL,
    audit_files,
    database_scheme,
    read_database_url_file,
)

EXAMPLE_MAX_ALERTS = 500
"""`max_alerts` in alerts/alertmanager.example.yml: the most alerts one notification holds."""
ALERT_BUDGET_BYTES = 8 * 1024
"""Room for one alert in a notification: about ten times a typical one (~650 bytes)."""
DEFAULT_MAX_BODY_BYTES = EXAMPLE_MAX_ALERTS * ALERT_BUDGET_BYTES + 64 * 1024
"""The largest group the example config sends, plus its envelope: a bigger body is
a 413, which Alertmanager does not retry, so the default must never be the limit."""

_CONFIG_FILE: ContextVar[Path | None] = ContextVar("remediator_config_file", default=None)


class Settings(ChatSettings, TimelineSettings):
    model_config = SettingsConfigDict(env_prefix="REMEDIATOR_", extra="forbid",
                                      validate_default=True)

    rules: CommaList = Field(default=["rules"], description="rule files or directories")
    database_url: str = Field(default=DEFAULT_DATABASE_URL,
                              description="sqlite:///FILE or postgresql+psycopg://...")
    listen: str = Field(default="127.0.0.1:9095", description="host:port to listen on")
    dev: bool = Field(default=False, description="development mode: no token required")
    demo: bool = Field(default=False, description="demo: an emulated cluster, scripted alerts "
                       "and a fresh SQLite file; nothing real is touched (remediator[demo])")
    webhook_token: SecretStr | None = Field(default=None,
                                            description="bearer token for the webhook")
    webhook_token_file: Path | None = Field(default=None,
                                            description="file holding the webhook token")
    api_token: SecretStr | None = Field(default=None,
                                        description="read-only token for /api and the page")
    api_token_file: Path | None = Field(default=None,
                                        description="file holding the read-only token")
    dry_run: bool = Field(default=False, description="decide and audit, never execute")
    allowed_namespaces: CommaList = Field(default=[],
                                          description="empty: every namespace not denied")
    denied_namespaces: CommaList = Field(default=["kube-system"], description="never act here")
    prometheus_url: str | None = Field(default=None, description="for verification")
    alertmanager_url: str | None = Field(default=None, description="for reconciliation")
    kubernetes: Literal["auto", "on", "off"] = Field(
        default="auto", description="auto: use KUBECONFIG or in-cluster config if present")
    playbook_dir: Path = Field(default=Path("playbooks"), description="where ansible plays live")
    ansible_inventory: Path | None = Field(
        default=None, description="inventory for repair plays; unset: plays run as dry-runs")
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=1024,
                                description="webhook body limit (the default fits max_alerts 500)")
    global_rate_max: int = Field(default=60, ge=1, description="actions allowed per window")
    global_rate_per: Duration = Field(default=timedelta(minutes=10), description="window")
    breaker_max_actions: int = Field(default=100, ge=1, description="actions in window that trip")
    breaker_max_failures: int = Field(default=5, ge=1, description="failures in window that trip")
    breaker_window: Duration = Field(default=timedelta(minutes=30),
                                     description="breaker window (longer than the rate window,"
                                     " so a sustained storm trips it)")
    breaker_cooldown: Duration = Field(default=timedelta(minutes=30),
                                       description="open breaker closes after this")
    workers: int = Field(default=4, ge=1, le=64, description="actions run concurrently")
    action_retries: int = Field(default=3, ge=0, le=10, description="retries of transient errors")
    retry_backoff: Duration = Field(default=timedelta(seconds=2), description="first retry delay")
    job_poll_interval: Duration = Field(default=timedelta(seconds=1), description="job queue poll")
    reconcile_interval: Duration = Field(default=timedelta(minutes=1),
                                         description="Alertmanager reconciliation")
    audit_retention: Duration = Field(default=timedelta(days=90),
                                      description="audit kept this long")
    header_timeout: Duration = Field(default=timedelta(seconds=10),
                                     description="a request's headers must arrive within this")
    body_timeout: Duration = Field(default=timedelta(seconds=30),
                                   description="a request's body must arrive within this")
    keepalive_timeout: Duration = Field(default=timedelta(seconds=5),
                                        description="idle keep-alive connections close after")
    max_connections: int = Field(default=1000, ge=1, description="open connections at most "
                                 "(503 beyond; kept below the descriptor limit)")
    audit_key_file: Path | None = Field(
        default=None, description="HMAC key of the audit chain (default: generated in "
        "STATE_DIR); required with PostgreSQL: every replica reads the same file")
    state_dir: Path | None = Field(
        default=None, description="where a generated audit key lives (default: beside the "
        "SQLite file, else the working directory); never in the database")
    log_format: Literal["json", "console"] = Field(default="json", description="log output")
    log_level: str = Field(default="INFO", description="log level")
    database_url_file: Path | None = Field(
        default=None, description="file holding the database URL (a mounted Secret); wins"
        " over database_url")
    session_key: SecretStr | None = Field(
        default=None, description="signs console sessions; change it to sign everyone out "
        "(unset: a random key per process; required with PostgreSQL)")
    session_key_file: Path | None = Field(
        default=None, description="file holding the session key (a mounted Secret)")
    session_ttl: Duration = Field(default=timedelta(hours=12),
                                  description="a console session expires after this")
    session_idle_timeout: Duration = Field(
        default=timedelta(hours=1), description="a console session unused this long expires")
    login_max_failures: int = Field(
        default=10, ge=1, description="failed sign-ins one address may make per window "
        "(then 429 until the window passes)")
    login_max_failures_global: int = Field(
        default=100, ge=1, description="failed sign-ins all addresses together may make "
        "per window")
    login_failure_window: Duration = Field(
        default=timedelta(minutes=5), description="sign-in throttling window")
    trusted_proxies: CommaList = Field(
        default=[], description="addresses whose X-Forwarded-User/-Email headers are trusted")
    proxy_operators: CommaList = Field(
        default=[], description="proxy users (name or email) who may act; others read")
    external_url: str | None = Field(
        default=None, description="the console's public URL, for links in notifications")
    alertmanager_external_url: str | None = Field(
        default=None, description="Alertmanager as browsers reach it (silence links)")
    notify_slack_url: str | None = Field(
        default=None, description="Slack-compatible incoming webhook for notifications")
    notify_webhook_url: str | None = Field(
        default=None, description="generic JSON webhook for notifications")
    notify_retries: int = Field(default=2, ge=0, le=5,
                                description="retries of a failed notification")
    alertmanager_receiver: str | None = Field(
        default=None, description="reconcile only alerts routed to this Alertmanager receiver "
        "(the one whose webhook points here); unset: only alerts received by webhook")

    prometheus_ca_file: Path | None = Field(
        default=None, description="CA bundle to verify Prometheus's TLS certificate")
    prometheus_tls_insecure: bool = Field(
        default=False, description="skip TLS verification of Prometheus (lab use only)")
    prometheus_token_file: Path | None = Field(
        default=None, description="file holding a bearer token for Prometheus")
    prometheus_connect_timeout: float = Field(default=3.0, gt=0, le=60,
                                              description="seconds to connect to Prometheus")
    prometheus_read_timeout: float = Field(default=10.0, gt=0, le=300,
                                           description="seconds to wait for Prometheus's answer")
    evidence_budget: float = Field(default=2.0, gt=0, le=30,
                                   description="seconds to gather evidence before an action")
    evidence_max_bytes: int = Field(default=64 * 1024, ge=1024, le=1024 * 1024,
                                    description="size cap of one evidence snapshot")
    evidence_log_lines: int = Field(default=50, ge=0, le=1000,
                                    description="previous container log lines kept")
    hint_rollout_window: Duration = Field(
        default=timedelta(minutes=30),
        description="recent_rollout: a revision this long before the alert counts")
    hint_dependency_label: str = Field(
        default="depends_on", description="dependency_down: label naming the services "
        "an alert's service depends on (comma-separated)")
    gitops_default: Literal["act", "propose", "refuse"] = Field(
        default="act", description="what a rule without `gitops:` does with a target "
        "Argo CD or Flux owns (act | propose | refuse); pod deletion always acts")
    gitops_tracking_label: str = Field(
        default="app.kubernetes.io/instance", pattern=r"^([a-z0-9.\-]+/)?[A-Za-z0-9_.\-]+$",
        description="Argo CD's label tracking key (argocd-cm application.instanceLabelKey)")
    gitops_argocd_namespace: str = Field(
        default="argocd", pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        description="namespace of Argo CD's Application objects")
    gitops_token_file: Path | None = Field(
        default=None, description="git proposals: token for HTTPS git and the forge's API")
    gitops_git_username: str = Field(
        default="x-access-token", description="git proposals: user name sent with the token")
    gitops_ssh_key_file: Path | None = Field(
        default=None, description="git proposals: private SSH key for ssh:// repositories")
    gitops_ssh_known_hosts_file: Path | None = Field(
        default=None, description="git proposals: known_hosts (an unknown host is refused)")
    gitops_forge: Literal["github", "gitlab", "gitea", "none"] | None = Field(
        default=None, description="git proposals: the forge to open pull requests on "
        "(default: from the host for github.com and gitlab.com, else push the branch only)")
    gitops_forge_url: str | None = Field(
        default=None, description="git proposals: the forge's API base URL")
    gitops_author: str = Field(
        default="remediator <remediator@localhost>", pattern=r"^[^<>\n]+?\s*<[^<>\s]+>$",
        description="git proposals: author of the commits, 'Name <email>'")
    gitops_suspend_timeout: Duration = Field(
        default=timedelta(hours=2), description="suspend_while_proposed: a Flux "
        "Kustomization suspended while a proposal is open is resumed after this at the "
        "latest (earlier when its pull request is merged or declined)")

    db_lock_timeout: Duration = Field(
        default=timedelta(seconds=5), description="PostgreSQL: a write waits this long for "
        "the writers' lock (held by a stalled replica?), then the webhook answers 503")
    db_statement_timeout: Duration = Field(
        default=timedelta(seconds=60), description="PostgreSQL: a statement is cancelled "
        "after this (0s: never)")
    db_idle_in_transaction_timeout: Duration = Field(
        default=timedelta(seconds=30), description="PostgreSQL: the server ends a session "
        "idle this long inside a transaction, releasing the locks a stalled replica holds")
    db_connect_timeout: Duration = Field(default=timedelta(seconds=5),
                                         description="PostgreSQL: connecting gives up after")
    db_keepalive: Duration = Field(
        default=timedelta(seconds=30), description="PostgreSQL: TCP keepalive idle time; a "
        "silent peer is dropped after about this plus three probes")

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, value: str) -> str:
        """SQLite or PostgreSQL through psycopg 3; anything else is refused at once."""
        return database_scheme(value)

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) < 65536:
            raise ValueError("listen must be host:port, e.g. 127.0.0.1:9095 (port 0: any "
                             "free port, logged once bound)")
        return value

    @model_validator(mode="after")
    def _database_url_from_file(self) -> Settings:
        """A PostgreSQL URL carries a password: the chart mounts it as a file, not an env var."""
        if self.database_url_file is not None:
            self.database_url = read_database_url_file(self.database_url_file)
        return self

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])

    def audit_files(self) -> tuple[Path, Path]:
        """(key file, pre-0010 head checkpoint file) of the audit chain."""
        return audit_files(self.database_url, state_dir=self.state_dir,
                           audit_key_file=self.audit_key_file)

    def resolved_webhook_token(self) -> str | None:
        return _token(self.webhook_token, self.webhook_token_file, "webhook_token_file")

    def resolved_api_token(self) -> str | None:
        return _token(self.api_token, self.api_token_file, "api_token_file")

    def resolved_session_key(self) -> str | None:
        return _token(self.session_key, self.session_key_file, "session_key_file")

    def read_secret_files(self) -> None:
        """Read every secret file now: `serve` refuses to start on an unreadable one,
        rather than failing the first sign-in or webhook that needs it."""
        self.resolved_webhook_token()
        self.resolved_api_token()
        self.resolved_session_key()
        self.slack_secrets()
        self.mattermost_secrets()

    def shared_secrets_problem(self) -> str | None:
        """What replicas sharing PostgreSQL lack, in one line; None when nothing is missing.

        PostgreSQL is the replicated mode. A key generated per process splits
        the audit chain (each replica's entries fail the other's check) and
        signs out every console session that lands on the other replica, so
        both keys must come from outside, the same on every replica (the
        chart mounts them from one Secret). SQLite has one writer: it may
        generate its key beside the database.
        """
        if self.database_url.startswith("sqlite"):
            return None
        missing = []
        if self.audit_key_file is None:
            missing.append("REMEDIATOR_AUDIT_KEY_FILE (the audit chain's key)")
        elif not self.audit_key_file.is_file():
            missing.append(f"REMEDIATOR_AUDIT_KEY_FILE ({self.audit_key_file} does not exist;"
                           " it is never generated with PostgreSQL)")
        if self.resolved_session_key() is None:
            missing.append("REMEDIATOR_SESSION_KEY_FILE or REMEDIATOR_SESSION_KEY (signs "
                           "console sessions)")
        if not missing:
            return None
        return ("PostgreSQL runs replicas that must share their keys: set "
                + " and ".join(missing) + ", the same on every replica (the Helm chart "
                "mounts both from one Secret)")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config_file = _CONFIG_FILE.get()
        sources: tuple[PydanticBaseSettingsSource, ...] = (init_settings, env_settings)
        if config_file is not None:
            sources += (YamlConfigSettingsSource(settings_cls, yaml_file=config_file),)
        return sources


def _token(secret: SecretStr | None, path: Path | None, setting: str) -> str | None:
    if secret is not None and secret.get_secret_value():
        return secret.get_secret_value()
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError as error:
        raise ValueError(f"{setting}: cannot read {path}: {error.strerror or error}") from None


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from flags (`overrides`), environment and an optional YAML file."""
    if config_file is not None and not config_file.is_file():
        raise FileNotFoundError(f"config file {config_file} does not exist")
    token = _CONFIG_FILE.set(config_file)
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError:  # it names the setting
        raise
    except Exception as error:  # reading the YAML file: unreadable, not YAML, not a mapping
        if config_file is None:
            raise
        problem = _config_file_problem(config_file, error)
        raise ValueError(f"config file {config_file}: {problem}") from None
    finally:
        _CONFIG_FILE.reset(token)


def settings_problem(error: Exception) -> str:
    """A settings error in one line: `name: what is wrong; ...` for each invalid setting."""
    if not isinstance(error, ValidationError):
        return _one_line(error)
    return "; ".join(
        ".".join(map(str, problem["loc"])) + ": " * bool(problem["loc"])
        + _one_line(problem["msg"].removeprefix("Value error, "))
        for problem in error.errors(include_url=False))


def _config_file_problem(path: Path, error: Exception) -> str:
    """What is wrong with the YAML file the settings source failed on, in one line.

    Only on that failure path: the source's own errors (a `dict.update` of a
    list) do not say that the file must be a mapping.
    """
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError) as reading:
        return _one_line(reading)
    if data is not None and not isinstance(data, dict):
        return "must be a mapping of setting names to values"
    return _one_line(error)


def _one_line(error: object) -> str:
    return " ".join(str(error).split()) or type(error).__name__
