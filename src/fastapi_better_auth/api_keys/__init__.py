"""API keys of Better-Auth's ``@better-auth/api-key`` plugin: verified as the plugin does, on its table.

```python
from fastapi_better_auth.api_keys import CurrentPrincipal, require_api_key_permission


@app.get("/files", dependencies=[Depends(require_api_key_permission({"files": ["read"]}))])
async def files(principal: CurrentPrincipal) -> list[str]: ...
```

See the "API keys" guide for the Better-Auth configuration each setting mirrors.
"""

from .._errors import (
    ApiKeyDisabledError,
    ApiKeyExpiredError,
    ApiKeyPermissionError,
    ApiKeyRateLimitedError,
    ApiKeyUsageExceededError,
    InvalidApiKeyError,
)
from ._dependencies import (
    ApiKeyPrincipal,
    CurrentPrincipal,
    current_principal,
    require_api_key,
    require_api_key_permission,
)
from ._models import ApiKey, ApiKeyMixin, get_api_key_model
from ._verify import ApiKeyInfo, Principal, hash_api_key, verify_api_key

__all__ = [
    "ApiKey",
    "ApiKeyDisabledError",
    "ApiKeyExpiredError",
    "ApiKeyInfo",
    "ApiKeyMixin",
    "ApiKeyPermissionError",
    "ApiKeyPrincipal",
    "ApiKeyRateLimitedError",
    "ApiKeyUsageExceededError",
    "CurrentPrincipal",
    "InvalidApiKeyError",
    "Principal",
    "current_principal",
    "get_api_key_model",
    "hash_api_key",
    "require_api_key",
    "require_api_key_permission",
    "verify_api_key",
]
