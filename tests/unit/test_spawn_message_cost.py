"""A worker's spawn message costs one argument parser per process, not one per option."""

from locust import argument_parser

from service.operation import spawn_message_cost


def test_the_worker_builds_locusts_parser_once_for_every_option_of_every_message(monkeypatch):
    built = []
    setup = argument_parser.setup_parser_arguments

    def counted_setup(parser):
        built.append(parser)
        setup(parser)

    monkeypatch.setattr(argument_parser, "setup_parser_arguments", counted_setup)
    monkeypatch.setattr(argument_parser, "default_args_dict", argument_parser.default_args_dict)
    plain = argument_parser.default_args_dict()
    built.clear()
    spawn_message_cost._defaults_once.cache_clear()
    spawn_message_cost.install()
    options = {**plain, "loadgen_setting": 1}
    for _message in range(3):  # Locust's worker keeps the options that are not its own so:
        custom = {k: v for k, v in options.items() if k not in argument_parser.default_args_dict()}
        assert custom == {"loadgen_setting": 1}
    assert len(built) == 1


def test_each_call_returns_locusts_defaults_in_a_dict_of_its_own(monkeypatch):
    monkeypatch.setattr(argument_parser, "default_args_dict", argument_parser.default_args_dict)
    plain = argument_parser.default_args_dict()
    spawn_message_cost.install()
    first = argument_parser.default_args_dict()
    assert first == plain
    first["users"] = -1
    assert argument_parser.default_args_dict() == plain
