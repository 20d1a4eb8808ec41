"""The portal's own date formats (settings.FORMAT_MODULE_PATH), where Django shows a date itself."""
