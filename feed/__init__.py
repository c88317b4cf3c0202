"""What a Copart feed row is and how it travels: shared by producer and consumer."""
