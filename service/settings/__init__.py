"""Every setting (flag, environment variable, locust.conf key) typed, read and checked once,
and the one preflight every entry point runs."""
