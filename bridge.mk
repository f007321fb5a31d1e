# The OpenSRF bridge plugin.
