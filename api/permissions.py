from rest_framework.permissions import SAFE_METHODS, BasePermission


class IsStaff(BasePermission):
    """Staff only: a token of a staff user, or a logged-in admin session."""

    message = "Staff only."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_staff)


class IsStaffOrReadOnly(IsStaff):
    def has_permission(self, request, view) -> bool:
        return request.method in SAFE_METHODS or super().has_permission(request, view)
