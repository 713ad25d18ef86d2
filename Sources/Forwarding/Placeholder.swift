enum _ForwardingPlaceholder {}
