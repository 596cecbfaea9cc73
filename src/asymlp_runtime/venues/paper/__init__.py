"""The paper venue: a simulated book with real-venue rules, the default when no API key is set."""

from asymlp_runtime.venues.paper.price import ReferencePath, as_mid_source, gbm_mids, reference_mid
from asymlp_runtime.venues.paper.venue import DEFAULT_PAPER_MARKET, PaperVenue, PaperVenueConfig

__all__ = [
    "DEFAULT_PAPER_MARKET",
    "PaperVenue",
    "PaperVenueConfig",
    "ReferencePath",
    "as_mid_source",
    "gbm_mids",
    "reference_mid",
]
