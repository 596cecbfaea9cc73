"""The wallet's private key: from the environment or an encrypted keystore, never shown.

Sources, in order of preference for production:

- an encrypted JSON keystore (``ASYMLP_KEYSTORE_PATH``), decrypted with ``eth_account``'s
  ``Account.decrypt`` and a password read from an environment variable
  (``ASYMLP_KEYSTORE_PASSWORD``);
- a raw hex key in an environment variable (``ASYMLP_PRIVATE_KEY``) — convenient for the devnet.

The key lives only inside a :class:`Wallet`: its ``repr``/``str`` show the address, it refuses
to be pickled or copied, and every error raised while loading names the variable or file, never
the value (the original exception, which may quote the input, is dropped with ``from None``).
The key's hex forms are registered with the process-wide log redactor as a second line of
defence.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from eth_account import Account

from ..ops.logging import get_redactor

__all__ = [
    "DEFAULT_KEY_ENV",
    "DEFAULT_KEYSTORE_ENV",
    "DEFAULT_PASSWORD_ENV",
    "KeyLoadError",
    "Wallet",
    "load_wallet",
]

DEFAULT_KEY_ENV = "ASYMLP_PRIVATE_KEY"
DEFAULT_KEYSTORE_ENV = "ASYMLP_KEYSTORE_PATH"
DEFAULT_PASSWORD_ENV = "ASYMLP_KEYSTORE_PASSWORD"


class KeyLoadError(RuntimeError):
    """The key could not be loaded; the message names the source, never the secret."""


class Wallet:
    """A signing key and its address.

    Create with :func:`load_wallet` (or :meth:`from_key` in tests). ``address`` is the
    checksummed address; :meth:`sign_transaction` signs an EIP-1559 transaction dict.
    """

    __slots__ = ("_account", "address")

    def __init__(self, private_key: bytes) -> None:
        try:
            account = Account.from_key(private_key)
        except Exception:
            raise KeyLoadError("the private key is not a valid secp256k1 key") from None
        self._account = account
        self.address: str = account.address
        redactor = get_redactor()
        hex_key = private_key.hex()
        for form in (hex_key, "0x" + hex_key, hex_key.upper()):
            redactor.add_secret(form)

    @classmethod
    def from_key(cls, private_key: str | bytes) -> Wallet:
        """From a hex string (with or without ``0x``) or 32 raw bytes."""
        if isinstance(private_key, str):
            text = private_key.strip()
            text = text[2:] if text[:2].lower() == "0x" else text
            try:
                raw = bytes.fromhex(text)
            except ValueError:
                raise KeyLoadError("the private key is not hex") from None
        else:
            raw = bytes(private_key)
        if len(raw) != 32:
            raise KeyLoadError(f"the private key must be 32 bytes, got {len(raw)}")
        return cls(raw)

    def sign_transaction(self, tx: dict[str, Any]) -> tuple[bytes, str]:
        """Sign ``tx`` (a type-2 transaction dict); returns ``(raw bytes, 0x tx hash)``."""
        signed = self._account.sign_transaction(tx)
        return bytes(signed.raw_transaction), "0x" + bytes(signed.hash).hex()

    def __repr__(self) -> str:
        return f"Wallet(address={self.address})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a Wallet cannot be pickled")

    def __copy__(self) -> Any:
        raise TypeError("a Wallet cannot be copied")

    def __deepcopy__(self, memo: Any) -> Any:
        raise TypeError("a Wallet cannot be copied")


def load_wallet(
    *,
    key_env: str = DEFAULT_KEY_ENV,
    keystore_path: str | os.PathLike[str] | None = None,
    keystore_env: str = DEFAULT_KEYSTORE_ENV,
    password_env: str = DEFAULT_PASSWORD_ENV,
    environ: dict[str, str] | None = None,
) -> Wallet:
    """Load the wallet from a keystore file (preferred) or a raw key in the environment.

    Parameters
    ----------
    key_env : str
        Variable holding a hex private key (used when no keystore is given).
    keystore_path : path, optional
        Encrypted JSON keystore; defaults to ``$<keystore_env>`` when that is set.
    keystore_env : str
        Variable naming the keystore path.
    password_env : str
        Variable holding the keystore password.
    environ : dict, optional
        The environment to read (``os.environ`` by default; tests pass a dict).

    Raises
    ------
    KeyLoadError
        No source configured, unreadable file, wrong password, malformed key. The message names
        the variable or the file, never a secret.
    """
    env = os.environ if environ is None else environ
    path = keystore_path if keystore_path is not None else env.get(keystore_env)
    if path:
        path = Path(path)
        password = env.get(password_env)
        if password is None:
            raise KeyLoadError(f"keystore {path} given but ${password_env} is not set")
        try:
            keystore = json.loads(path.read_text())
        except OSError as err:
            raise KeyLoadError(f"cannot read keystore {path}: {err.strerror}") from None
        except ValueError:
            raise KeyLoadError(f"keystore {path} is not JSON") from None
        try:
            raw = Account.decrypt(keystore, password)
        except Exception:
            raise KeyLoadError(
                f"cannot decrypt keystore {path} with the password in ${password_env}"
            ) from None
        return Wallet(bytes(raw))
    value = env.get(key_env)
    if not value:
        raise KeyLoadError(f"no wallet configured: set ${key_env}, or ${keystore_env} and ${password_env}")
    try:
        return Wallet.from_key(value)
    except KeyLoadError as err:
        raise KeyLoadError(f"${key_env}: {err}") from None
