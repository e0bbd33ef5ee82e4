"""[database] options: where the compute node's records are stored."""

from __future__ import annotations

from oslo_config import cfg

database_group = cfg.OptGroup(
    "database", title="Database", help="The compute node's database."
)

opts: list[cfg.Opt] = [
    cfg.StrOpt(
        "connection",
        default="sqlite:///$state_path/sriovirt.sqlite",
        secret=True,
        help="SQLAlchemy URL of the database, e.g. "
        "postgresql+psycopg2://user:pass@host/sriovirt.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(database_group)
    conf.register_opts(opts, group=database_group)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [("database", opts)]
