"""Demo mode (`remediator serve --demo`): the real service, an emulated world.

Above the web layer (it wires the service) and below the CLI; needs the
optional `remediator[demo]` extra (kmock). See docs/demo.md.
"""
