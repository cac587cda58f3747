"""Libraries of the network (province → district → commune), their locations and opening calendar."""
