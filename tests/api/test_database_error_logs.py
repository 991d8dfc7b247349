"""A database error logs no bound SQL parameters (review finding R11 of issue 2)."""

# --- R11: a 500 logs the SQL parameters of the failing statement (row values, personal data on enrollment paths) -----


def test_r11_database_errors_do_not_carry_bound_parameters_into_logs(app):
    from app.extensions import db

    with app.app.app_context():
        # error_formats.handle logs exc_info for every 5xx; SQLAlchemy puts "[parameters: {...}]" in str(exc)
        assert db.engine.hide_parameters  # today: False
