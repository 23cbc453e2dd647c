import pytest

from shipyard.errors import DataError
from shipyard.scheduling.trace import load_arrivals, load_nodes, load_tasks

TASKS = """name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time
late,4000,8192,1,460,,LS,Running,500,1500,500
early,2000,4096,2,1000,V100M16|V100M32,BE,Running,100,400,100
cpu,1000,1024,0,0,,BE,Succeeded,300,,300
"""


def test_tasks_come_in_arrival_order_with_shares_types_and_durations(tmp_path):
    path = tmp_path / "pods.csv"
    path.write_text(TASKS)
    early, cpu, late = load_tasks(path)
    assert (early.name, early.num_gpu, early.per_gpu_milli, early.gpu_types, early.duration_s) == (
        "early", 2, 1000, ("V100M16", "V100M32"), 300.0)
    assert (cpu.name, cpu.gpu_demand_milli, cpu.duration_s) == ("cpu", 0, None)
    assert (late.name, late.gpu_milli, late.duration_s) == ("late", 460, 1000.0)


def test_arrivals_carry_their_time_and_qos_class(tmp_path):
    path = tmp_path / "pods.csv"
    path.write_text(TASKS)
    assert [(a.task.name, a.at_s, a.qos, a.task.duration_s) for a in load_arrivals(path)] == [
        ("early", 100.0, "BE", 300.0), ("cpu", 300.0, "BE", None), ("late", 500.0, "LS", 1000.0)]


def test_arrivals_need_times_and_unique_names(tmp_path):
    untimed = tmp_path / "untimed.csv"
    untimed.write_text("name,cpu_milli,memory_mib,num_gpu,gpu_milli\nb,1000,0,8,1000\n")
    with pytest.raises(DataError, match="has no column 'creation_time'"):
        load_arrivals(untimed)
    twice = tmp_path / "twice.csv"
    twice.write_text(TASKS + "late,4000,8192,1,460,,LS,Running,600,700,600\n")
    with pytest.raises(DataError, match="names a task twice"):
        load_arrivals(twice)


def test_a_file_without_times_keeps_its_order(tmp_path):
    path = tmp_path / "multigpu.csv"
    path.write_text("name,cpu_milli,memory_mib,num_gpu,gpu_milli\nb,1000,0,8,1000\na,1000,0,1,300\n")
    assert [t.name for t in load_tasks(path)] == ["b", "a"]


def test_nodes(tmp_path):
    path = tmp_path / "nodes.csv"
    path.write_text("sn,cpu_milli,memory_mib,gpu,model\nn0,96000,786432,8,G2\nn1,32000,131072,2,T4\n")
    assert [(n.name, n.num_gpu, n.gpu_type) for n in load_nodes(path)] == [("n0", 8, "G2"), ("n1", 2, "T4")]


@pytest.mark.parametrize("text, says", [
    ("name,cpu_milli,memory_mib,num_gpu\na,1,1,1\n", "no column 'gpu_milli'"),
    ("name,cpu_milli,memory_mib,num_gpu,gpu_milli\na,1,1,one,0\n", ":2: num_gpu is 'one'"),
    ("name,cpu_milli,memory_mib,num_gpu,gpu_milli\na,1,1,12,1000\n", ":2: task 'a' asks for 12 GPUs"),
])
def test_a_malformed_trace_is_a_data_error_with_file_and_line(tmp_path, text, says):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=says):
        load_tasks(path)


def test_a_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="cannot read"):
        load_nodes(tmp_path / "absent.csv")
