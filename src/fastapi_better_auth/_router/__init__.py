"""``better_auth_router()``: a new ``APIRouter`` with the library's routes and lifespan."""

from ._factory import better_auth_router

__all__ = ["better_auth_router"]
