from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    # The admin's section heading: what staff call this part of the theatre.
    verbose_name = "Box office"
