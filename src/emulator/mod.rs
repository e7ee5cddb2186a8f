//! A local emulator of the SSM API.
