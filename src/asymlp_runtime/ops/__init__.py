"""Operations: logging, metrics, resilience (backoff, circuit breakers, rate limits)."""
