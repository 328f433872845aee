"""A show's admin form: its start typed as the local time at the venue, and what the page
showed kept, so that a save changes only what staff changed on it."""

from datetime import date, datetime, time

from django import forms
from django.utils import timezone

from .. import selectors
from ..errors import Invalid
from ..models import Screen, Show
from ..services import showtimes
from .prices import PRICES_CHANGED, prices_shown


class LocalDateTimeField(forms.SplitDateTimeField):
    """A date and a time as typed, with no zone yet: ShowForm reads them in the venue's."""

    def compress(self, data_list: tuple[date, time] | None) -> datetime | None:
        if not data_list or None in data_list[:2]:
            return super().compress(data_list)  # its "enter a date and a time"
        return datetime.combine(data_list[0], data_list[1])


class ShowForm(forms.ModelForm):
    # Typed and shown as the time at the venue, as the API reads a show's date and time.
    starts_at = LocalDateTimeField(label="Starts", help_text="Local time at the venue.")
    # The start the change page showed, carried through a form shown again: the start is
    # changed when staff typed another, not when it differs from the show now (a new time
    # a colleague set meanwhile was undone). A split field's own hidden initial is lost
    # when its form is shown again (Django carries only single inputs' forward).
    starts_at_shown = forms.CharField(widget=forms.HiddenInput, required=False)
    # The prices the page showed (its rows are saved as the whole list: see clean).
    prices_shown = forms.CharField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Show
        fields = ["screen", "film", "title", "starts_at", "capacity"]

    local: tuple[date, time] | None = None
    start_typed = False  # a change's start: sent to the service only when staff typed one

    def __init__(self, *args, **kwargs) -> None:
        if kwargs.get("instance") is None:
            # The add page's new show on the default screen, if there is one: the model's
            # default makes the fresh installation's when missing, and opening the page
            # made a screen staff had deleted again.
            default = Screen.objects.find_default()
            kwargs["instance"] = Show(screen_id=None if default is None else default.pk)
        super().__init__(*args, **kwargs)
        # Staff who may only view shows get the form without the model's fields (the admin
        # shows their values read-only): each is set up only when it is there.
        fields = self.fields
        if "screen" in fields:
            fields["screen"].queryset = Screen.objects.select_related("venue")  # type: ignore[attr-defined]
            fields["screen"].disabled = self.instance.pk is not None  # a show stays on its screen
        if self.instance.pk is not None:
            # The page keeps what it showed: a change is what staff changed on it, not what
            # differs from the show now (a new time set meanwhile was undone).
            for name in ("film", "title"):
                if name in fields:
                    fields[name].show_hidden_initial = True
            zone = self.instance.zone
            self.initial["starts_at"] = timezone.localtime(self.instance.starts_at, zone).replace(tzinfo=None)
            self.initial["starts_at_shown"] = self.initial["starts_at"].isoformat()
            if "prices_shown" in fields:
                self.initial["prices_shown"] = prices_shown(self.instance)
            fields["starts_at"].help_text = f"Local time at the venue ({zone.key})."
        if "capacity" in fields:
            capacity = fields["capacity"]
            capacity.required = False
            capacity.help_text = "Blank: every place of the screen's seat map."
            if self.instance.pk is None:
                # Blank unless asked for (?capacity=): the model's default, the default
                # screen's BOOKING_DEFAULT_CAPACITY, saved as shown sold that many seats on
                # a screen of any size.
                capacity.initial, capacity.show_hidden_initial = None, False
                self.initial["capacity"] = (kwargs.get("initial") or {}).get("capacity")

    def clean_starts_at(self) -> datetime:
        """The moment of the date and time typed, in the zone of the show's venue; the
        show's own moment when they are the ones shown (the second 02:30 of a night the
        clocks go back reads back as the first)."""
        local = self.cleaned_data["starts_at"]
        if self.instance.pk is not None and not self._start_typed(local):
            return self.instance.starts_at
        screen = self.instance.screen if self.instance.pk is not None else self.cleaned_data.get("screen")
        if screen is None:
            return local  # the screen's own error says what is missing
        self.start_typed = True
        self.local = (local.date(), local.time())  # a new show's: read again under its screen's lock
        try:
            return showtimes.moment(local.date(), local.time(), screen.venue)
        except Invalid as exc:
            raise forms.ValidationError(exc.message) from exc

    def _start_typed(self, local: datetime) -> bool:
        """Whether staff typed a start other than the one the page showed."""
        shown = self.data.get(self.add_prefix("starts_at_shown"), "")
        try:
            return local != datetime.fromisoformat(shown)
        except ValueError:  # a page from before the field: as the show stands now
            return "starts_at" in self.changed_data

    def clean(self) -> dict:
        # What the service would keep as it is, refused on the form rather than saved as
        # "changed successfully" with nothing changed (the API answers these 400 too).
        data = super().clean() or {}
        shown = self.data.get(self.add_prefix("prices_shown"))  # None: a page from before the field
        if "prices_shown" in self.initial and shown not in (None, self.initial["prices_shown"]):
            self.add_error(None, PRICES_CHANGED)
        film = data.get("film")
        if self.instance.pk is not None and self.instance.film_id and film is None and "film" not in self.errors:
            self.add_error("film", "A show's film can't be removed; give another film.")
        if film is not None and "title" in self.changed_data and data.get("title") not in ("", film.title):
            self.add_error("title", "A show of a film has the film's title: leave it blank, or rename the film.")
        return data

    def clean_capacity(self) -> int | None:
        capacity = self.cleaned_data["capacity"]
        if capacity is not None and self.instance.pk is not None:
            # The rule of services.catalog.show_update, checked here to show it on the
            # form; show_update checks it again under the show's lock when saving.
            taken = selectors.show_taken_count(self.instance, now=timezone.now())
            if capacity < taken:
                raise forms.ValidationError(f"Capacity can't be lower than the {taken} seats booked or held.")
        return capacity
