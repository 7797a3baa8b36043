"""The one settings object: every setting read from the table once and checked, in two parts
(the exporter's, and the service's continuous operation)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from service.settings.exporter_options import ExporterOptions
from service.settings.flags import read_flags
from service.settings.service_options import ServiceOptions
from service.settings.table import FLAGS


@dataclass(frozen=True)
class Settings:
    exporter: ExporterOptions
    service: ServiceOptions

    @classmethod
    def read(cls, parsed: Any | None, env: Mapping[str, str] | None = None) -> Settings:
        """From Locust's parsed options (without them, the environment); a ValueError names
        the bad value."""
        values = read_flags(FLAGS, parsed, env)
        return cls(
            ExporterOptions.from_values(values, parsed), ServiceOptions.from_values(values, parsed)
        )
