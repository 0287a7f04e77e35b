"""What changes tenants, by idea (as zulip's ``zerver/actions/``): ``registration`` (register,
edit, offboard, delete), ``consent`` (links, state, the callback, user tests) and ``groups``.
Import the module you need; nothing is re-exported here."""
