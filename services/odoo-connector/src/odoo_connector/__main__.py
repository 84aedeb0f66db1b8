from odoo_connector.cli import main

main()
