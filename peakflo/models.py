import zoneinfo

from babel.numbers import list_currencies
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    AR_ADMIN = "ar_admin", "AR admin"
    COLLECTIONS = "collections", "Collections"
    ACCOUNT_MANAGER = "account_manager", "Account manager"
    AUDITOR = "auditor", "Auditor (read-only)"


# Roles that see every customer; an account manager sees only their own (DESIGN.md, Visibility).
ROLES_SEEING_ALL = {Role.ADMIN, Role.AR_ADMIN, Role.COLLECTIONS, Role.AUDITOR}


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **fields):
        if not email:
            raise ValueError("An email address is required.")
        fields.pop("is_staff", None)  # staff access follows the role
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **fields):
        fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **fields)

    def create_superuser(self, email, password=None, **fields):
        fields["is_superuser"] = True
        fields["role"] = Role.ADMIN
        return self._create_user(email, password, **fields)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField("email address", unique=True)
    name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.ACCOUNT_MANAGER)
    is_default_account_manager = models.BooleanField(
        "default account manager",
        default=False,
        help_text="New customers without an account manager are given this user.",
    )
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        ordering = ["name", "email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ci"),
            models.UniqueConstraint(
                fields=["is_default_account_manager"],
                condition=models.Q(is_default_account_manager=True),
                name="one_default_account_manager",
                violation_error_message="Another user is already the default account manager.",
            ),
        ]

    def __str__(self):
        return self.name or self.email

    def clean(self):
        super().clean()
        self.email = self.email.strip().lower()

    @property
    def is_staff(self):
        """Django admin access comes with the admin role."""
        return self.is_active and (self.is_superuser or self.role == Role.ADMIN)

    def has_perm(self, perm, obj=None):
        # The admin role may do everything in the Django admin, as a superuser may.
        return (self.is_active and self.role == Role.ADMIN) or super().has_perm(perm, obj)

    def has_module_perms(self, app_label):
        return (self.is_active and self.role == Role.ADMIN) or super().has_module_perms(app_label)

    @property
    def is_admin(self):
        return self.is_superuser or self.role == Role.ADMIN

    @property
    def sees_all_customers(self):
        return self.is_superuser or self.role in ROLES_SEEING_ALL

    @property
    def is_read_only(self):
        return self.role == Role.AUDITOR and not self.is_superuser

    def get_full_name(self):
        return self.name or self.email

    def get_short_name(self):
        return (self.name or self.email).split()[0]


def validate_currency(code):
    if code not in list_currencies():
        raise ValidationError(f"{code!r} is not an ISO 4217 currency code.")


def validate_time_zone(name):
    if name not in zoneinfo.available_timezones():
        raise ValidationError(f"{name!r} is not a known time zone (for example Asia/Singapore).")


def default_send_weekdays():
    return [0, 1, 2, 3, 4]  # Monday to Friday


class Company(models.Model):
    """The one company this installation collects for: a single row, always pk=1."""

    name = models.CharField(max_length=200, default="My Company")
    logo = models.ImageField(upload_to="company/", blank=True)
    address = models.TextField(blank=True)
    base_currency = models.CharField(max_length=3, default="SGD", validators=[validate_currency])
    time_zone = models.CharField(max_length=64, default="Asia/Singapore", validators=[validate_time_zone])
    send_window_start = models.TimeField(default="08:00")
    send_window_end = models.TimeField(default="18:00")
    send_weekdays = models.JSONField(
        default=default_send_weekdays, help_text="Days reminders may go out: 0 is Monday, 6 is Sunday."
    )
    sender_email = models.EmailField(blank=True, help_text="The From address of reminders.")
    invoice_footer = models.TextField(blank=True, help_text="Printed at the foot of invoice PDFs.")
    brand_color = models.CharField(max_length=7, default="#1d4ed8")
    bank_transfer_instructions = models.TextField(
        blank=True, help_text="Shown in the payer portal when online payment is not configured."
    )

    class Meta:
        verbose_name_plural = "company"
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="company_single_row")]

    def __str__(self):
        return self.name

    def clean(self):
        if self.send_window_start >= self.send_window_end:
            raise ValidationError({"send_window_end": "The send window must end after it starts."})
        days = self.send_weekdays
        if not isinstance(days, list) or not days or any(d not in range(7) for d in days):
            raise ValidationError({"send_weekdays": "Choose at least one weekday (0 = Monday … 6 = Sunday)."})

    @classmethod
    def load(cls):
        company, _ = cls.objects.get_or_create(pk=1)
        return company

    @property
    def tz(self):
        return zoneinfo.ZoneInfo(self.time_zone)

    def today(self):
        """The date it is now where the company works."""
        return timezone.now().astimezone(self.tz).date()


class Heartbeat(models.Model):
    """Written by the beat-scheduled heartbeat task; /healthz reads its age."""

    name = models.CharField(max_length=50, unique=True)
    beat_at = models.DateTimeField()
    hostname = models.CharField(max_length=200, blank=True)

    def __str__(self):
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S}"


class ImportJob(models.Model):
    """An uploaded file imported in the background, with progress a page can poll."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=40)
    file = models.FileField(upload_to="imports/%Y/%m/")
    filename = models.CharField(max_length=255)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey("peakflo.User", null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.kind} import of {self.filename} ({self.get_status_display()})"

    @property
    def percent(self):
        if self.status == self.Status.DONE:
            return 100
        return min(99, round(100 * self.rows_done / self.rows_total)) if self.rows_total else 0


class Holiday(models.Model):
    """A company holiday: no reminder goes out on it when a workflow sends on business days only."""

    date = models.DateField(unique=True)
    name = models.CharField(max_length=120)

    class Meta:
        ordering = ["date"]

    def __str__(self):
        return f"{self.name} ({self.date:%d %b %Y})"
