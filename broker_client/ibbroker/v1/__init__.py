"""Generated code for the ibbroker.v1 protos (do not edit; `make proto`)."""
