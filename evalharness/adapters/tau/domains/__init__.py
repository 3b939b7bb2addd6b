"""The domains whose toolkits the harness knows, by name (a domain directory's name picks its toolkit)."""

from __future__ import annotations

from evalharness.adapters.tau.domains.airline import AirlineTools
from evalharness.adapters.tau.domains.banking_knowledge import BankingKnowledgeTools
from evalharness.adapters.tau.domains.bikeshop import BikeshopToolkit
from evalharness.adapters.tau.domains.mock import MockTools
from evalharness.adapters.tau.domains.retail import RetailTools
from evalharness.adapters.tau.domains.telecom import TelecomTools
from evalharness.adapters.tau.toolkit import Toolkit
from evalharness.errors import DataError

TOOLKITS: dict[str, type[Toolkit]] = {
    cls.domain: cls for cls in (AirlineTools, BankingKnowledgeTools, BikeshopToolkit, MockTools, RetailTools, TelecomTools)}


def toolkit_for(name: str) -> type[Toolkit]:
    """The toolkit class of a domain; a DataError naming the known domains for any other name."""
    try:
        return TOOLKITS[name]
    except KeyError:
        raise DataError(f"no toolkit for τ²-bench domain {name!r}; known domains: {', '.join(sorted(TOOLKITS))}") from None


__all__ = ["TOOLKITS", "AirlineTools", "BankingKnowledgeTools", "BikeshopToolkit", "MockTools", "RetailTools", "TelecomTools", "toolkit_for"]
