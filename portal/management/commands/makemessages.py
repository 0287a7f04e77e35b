"""Django's makemessages without msgmerge's fuzzy matching.

A new operator string that resembles a translated one ("Tenants" next to "Tenant") would
otherwise arrive in the catalogs with that translation and a fuzzy flag: a wrong guess a
translator must find and undo. Here every new entry arrives empty.
"""

from django.core.management.commands import makemessages


class Command(makemessages.Command):
    msgmerge_options = [*makemessages.Command.msgmerge_options, "--no-fuzzy-matching"]
