from django.contrib.auth.tokens import PasswordResetTokenGenerator


class InvitationTokenGenerator(PasswordResetTokenGenerator):
    """Like the password-reset token, but its own salt: one kind of link cannot stand in for the other.

    The token hashes the password, so it stops working once the invitee has set one.
    """

    key_salt = "peakflo.tokens.InvitationTokenGenerator"


invitation_token_generator = InvitationTokenGenerator()
