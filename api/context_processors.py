from django.conf import settings


def theatre(request) -> dict:
    return {"theatre_name": settings.THEATRE_NAME}
