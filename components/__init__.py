"""The platform's Pulumi components: one ``ComponentResource`` per concept, each with a
typed args class, children created with ``parent=self`` and its outputs registered."""
