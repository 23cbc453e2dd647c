import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { ConfirmButton } from "./Confirm";

describe("a confirmed action", () => {
  it("is disabled with the reason when the role does not allow it", () => {
    render(<ConfirmButton label="Roll back" change={<p>x</p>} refusal="vera may not rollback" onConfirm={vi.fn()} />);
    expect(screen.getByRole("button", { name: "Roll back" })).toBeDisabled();
    expect(screen.getByText("vera may not rollback")).toBeInTheDocument();
  });

  it("says what will change, waits for the reason, then acts once", () => {
    const act = vi.fn();
    render(<ConfirmButton label="Roll back" needsReason change={<p>This removes the canary arm (v2).</p>} refusal={null} onConfirm={act} />);
    fireEvent.click(screen.getByRole("button", { name: "Roll back" }));
    expect(screen.getByRole("dialog")).toHaveTextContent("This removes the canary arm (v2).");
    const confirm = screen.getByRole("button", { name: "Confirm: Roll back" });
    expect(confirm).toBeDisabled();
    fireEvent.change(screen.getByLabelText(/Reason/), { target: { value: " slow p99 " } });
    fireEvent.click(confirm);
    expect(act).toHaveBeenCalledExactlyOnceWith("slow p99");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
  });

  it("does nothing when cancelled", () => {
    const act = vi.fn();
    render(<ConfirmButton label="Set traffic" change={<p>30%</p>} refusal={null} onConfirm={act} />);
    fireEvent.click(screen.getByRole("button", { name: "Set traffic" }));
    fireEvent.click(screen.getByRole("button", { name: "Cancel" }));
    expect(act).not.toHaveBeenCalled();
  });
});
