"""Better-Auth's ``organization`` plugin: organizations, members and their roles' permissions.

```python
from fastapi_better_auth.organizations import CurrentMember, require_org_permission


@app.post("/projects", dependencies=[Depends(require_org_permission({"project": ["create"]}))])
async def create_project(member: CurrentMember) -> Project: ...
```

See the "Organizations" guide for the Better-Auth configuration each setting mirrors; the
access-control engine (shared with the admin plugin's roles) is
:mod:`fastapi_better_auth.access` (re-exported as ``organizations.access``).
"""

from .._errors import (
    NoActiveOrganizationError,
    NotOrganizationMemberError,
    OrganizationPermissionError,
    OrganizationRoleRequiredError,
)
from ._config import Organizations
from ._models import (
    InvitationMixin,
    MemberMixin,
    OrganizationMixin,
    OrganizationModels,
    OrganizationRoleMixin,
    SessionActivityMixin,
    TeamMemberMixin,
    TeamMixin,
    get_organization_models,
)
from ._reads import MemberInfo, OrganizationInfo, load_member, load_roles
from .access import (
    ORGANIZATION_ROLES,
    ORGANIZATION_STATEMENTS,
    AccessControl,
    Role,
    create_access_control,
    has_org_permission,
)
from .dependencies import (
    CurrentMember,
    CurrentOrganization,
    current_member,
    current_organization,
    get_organizations,
    require_org_permission,
    require_org_role,
)

__all__ = [
    "ORGANIZATION_ROLES",
    "ORGANIZATION_STATEMENTS",
    "AccessControl",
    "CurrentMember",
    "CurrentOrganization",
    "InvitationMixin",
    "MemberInfo",
    "MemberMixin",
    "NoActiveOrganizationError",
    "NotOrganizationMemberError",
    "OrganizationInfo",
    "OrganizationMixin",
    "OrganizationModels",
    "OrganizationPermissionError",
    "OrganizationRoleMixin",
    "OrganizationRoleRequiredError",
    "Organizations",
    "Role",
    "SessionActivityMixin",
    "TeamMemberMixin",
    "TeamMixin",
    "create_access_control",
    "current_member",
    "current_organization",
    "get_organization_models",
    "get_organizations",
    "has_org_permission",
    "load_member",
    "load_roles",
    "require_org_permission",
    "require_org_role",
]
