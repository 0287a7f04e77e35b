from tests.notifications.fixtures import inbox, receiver, smtp_inbox  # noqa: F401
