"""litellm, loaded only when a model call is actually made, with the offline provider registered.

``import litellm`` costs about 6 s and 200 MB, so nothing imports this module at
load time: the gateway calls ``load()`` right before its first model call. The
cost map is read from litellm's bundled copy (``LITELLM_LOCAL_MODEL_COST_MAP``),
never fetched, and litellm's own retries are left off: the gateway retries and
falls back itself, so that every attempt is visible and budgeted.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from governed_agents.routing.offline import OFFLINE_MARKER, OFFLINE_PROVIDER, respond

_lock = threading.Lock()
_litellm: Any = None


def load() -> Any:
    """The litellm module, configured for governed use (idempotent, thread-safe)."""
    global _litellm
    if _litellm is not None:
        return _litellm
    with _lock:
        if _litellm is None:
            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            os.environ.setdefault("LITELLM_TELEMETRY", "False")
            import litellm

            litellm.suppress_debug_info = True
            litellm.telemetry = False
            litellm.num_retries = 0
            register_offline_provider(litellm)
            _litellm = litellm
    return _litellm


def loaded() -> bool:
    """Whether this process has loaded litellm through ``load()``."""
    return _litellm is not None


def register_offline_provider(litellm: Any) -> None:
    """Add the offline stand-in to ``litellm.custom_provider_map`` as provider ``offline``."""
    if any(item.get("provider") == OFFLINE_PROVIDER for item in litellm.custom_provider_map):
        return
    from litellm import CustomLLM, ModelResponse

    class OfflineModel(CustomLLM):
        """The deterministic offline stand-in (``governed_agents.routing.offline``) behind litellm."""

        def completion(self, model: str, messages: list, api_base: str, custom_prompt_dict: dict,
                       model_response: Any, print_verbose: Any, encoding: Any, api_key: Any,
                       logging_obj: Any, optional_params: dict, acompletion: Any = None,
                       litellm_params: Any = None, logger_fn: Any = None, headers: Any = None,
                       timeout: Any = None, client: Any = None) -> Any:
            answer = respond(
                model,
                [dict(m) if not isinstance(m, dict) else m for m in messages],
                optional_params.get("tools"),
                tool_choice=optional_params.get("tool_choice"),
                response_format=optional_params.get("response_format"),
            )
            return ModelResponse(
                id=answer["id"],
                model=f"{OFFLINE_PROVIDER}/{model}",
                system_fingerprint=OFFLINE_MARKER,
                choices=[{"index": 0, "finish_reason": answer["finish_reason"], "message": answer["message"]}],
                usage=answer["usage"],
            )

        async def acompletion(self, *args: Any, **kwargs: Any) -> Any:
            return self.completion(*args, **kwargs)

    litellm.custom_provider_map = [
        *litellm.custom_provider_map,
        {"provider": OFFLINE_PROVIDER, "custom_handler": OfflineModel()},
    ]
