"""The paper venue: a simulated book with real-venue rules, the default when no API key is set."""

from asymlp_runtime.venues.paper.price import as_mid_source, gbm_mids
from asymlp_runtime.venues.paper.venue import DEFAULT_PAPER_MARKET, PaperVenue, PaperVenueConfig

__all__ = ["DEFAULT_PAPER_MARKET", "PaperVenue", "PaperVenueConfig", "as_mid_source", "gbm_mids"]
