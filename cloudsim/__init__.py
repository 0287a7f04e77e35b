"""cloudsim: a stateful local emulator of Entra ID login, Microsoft Graph and ACS."""
